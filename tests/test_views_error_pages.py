"""The friendly error pages that render without a request context: a CSRF failure and a 500."""

from django.template.loader import render_to_string


def test_an_expired_form_gets_the_friendly_403(alice_client):
    response = alice_client.post("/create/", {"mode": "text2video", "prompt": "no token"})
    html = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in html and "Back to the studio" in html and "app.css" in html


def test_the_500_page_renders_on_its_own(db):
    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html and "<title>Something went wrong · Vidu Studio</title>" in html
