from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def device_bridge_script():
    """The bridge's address for static/js/device_bridge.js, and the module itself (the
    page's own hooks come after it). Nothing when no bridge is configured."""
    if not settings.DEVICE_BRIDGE_URL:
        return ""
    return format_html(
        '<meta name="device-bridge" content="{}"><script src="{}" defer></script>',
        settings.DEVICE_BRIDGE_URL,
        static("js/device_bridge.js"),
    )
