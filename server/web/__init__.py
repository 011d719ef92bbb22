"""Browser pages: server-rendered Jinja templates over the domain services.

No front-end build step: templates in ``templates/``, plain CSS and JavaScript
in ``static/`` (vendored libraries under ``static/vendor/``, see docs/web.md).
"""
