"""The four ways every page is looked at: desktop and phone, light and dark."""

VIEWS = {
    "desktop-light": {"viewport": {"width": 1440, "height": 900}, "color_scheme": "light"},
    "desktop-dark": {"viewport": {"width": 1440, "height": 900}, "color_scheme": "dark"},
    "phone-light": {"viewport": {"width": 375, "height": 812}, "color_scheme": "light", "device_scale_factor": 2,
                    "is_mobile": True, "has_touch": True},
    "phone-dark": {"viewport": {"width": 375, "height": 812}, "color_scheme": "dark", "device_scale_factor": 2,
                   "is_mobile": True, "has_touch": True},
}
