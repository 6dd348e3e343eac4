"""Settings for the test run: Hozen's own settings plus a test-only app with protected models."""

from hozen.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405
