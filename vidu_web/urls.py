from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from vidu_web.studio.operations import operations

# Sign-in, sign-out and password change only: no email is configured yet, so a password reset
# could send nothing (Django would log "Failed to send password reset email"). The reset views
# come back with email (the "Teams" issue); until then an admin sets a forgotten password.
accounts = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]

urlpatterns = [
    # The operator page: staff only, like the rest of the admin (linked from its index).
    path("admin/operations/", admin.site.admin_view(operations), name="admin-operations"),
    path("admin/", admin.site.urls),
    path("accounts/", include(accounts)),
    path("", include("vidu_web.teams.urls")),
    path("", include("vidu_web.studio.urls")),
]
