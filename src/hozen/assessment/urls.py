from .views import portal, staff

app_name = "assessment"

urlpatterns = [*portal.urlpatterns, *staff.urlpatterns]
