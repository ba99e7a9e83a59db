from django.urls import path

from . import views

urlpatterns = [
    path("items/<str:item>", views.item),
    path("grüße", views.greetings),
    path("form", views.form),
    path("upload", views.upload),
    path("json", views.json_body),
    path("session/set", views.session_set),
    path("session/get", views.session_get),
    path("redirect", views.go_elsewhere),
    path("stream", views.stream),
    path("error", views.error),
]

handler500 = "features_django.views.handle_500"
