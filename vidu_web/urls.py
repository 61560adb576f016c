from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from vidu_web.studio.operations import operations
from vidu_web.teams import accounts as account_views

# Password reset answers 404 unless email is configured (EMAIL_HOST, or DEBUG's console): without
# email a reset could send nothing, and an admin sets a forgotten password instead.
accounts = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password_reset/", account_views.password_reset, name="password_reset"),
    path("password_reset/done/", account_views.password_reset_done, name="password_reset_done"),
    path("reset/<uidb64>/<token>/", account_views.password_reset_confirm, name="password_reset_confirm"),
    path("reset/done/", account_views.password_reset_complete, name="password_reset_complete"),
]

urlpatterns = [
    # The operator page: staff only, like the rest of the admin (linked from its index).
    path("admin/operations/", admin.site.admin_view(operations), name="admin-operations"),
    path("admin/", admin.site.urls),
    path("accounts/", include(accounts)),
    path("", include("vidu_web.teams.urls")),
    path("", include("vidu_web.studio.urls")),
]
