"""Django app for Wagtail: ``INSTALLED_APPS = [..., "rdjpeg_plugins.wagtail"]`` makes every JPEG rendition rdjpeg's.

When Django loads the apps, before any rendition is made, the app (label ``rdjpeg_wagtail``) registers
:mod:`rdjpeg_plugins.willow`: Willow's ``save_as_jpeg`` written by rdjpeg. ``WAGTAILIMAGES_JPEG_QUALITY`` (Wagtail's
default 76) and the ``jpegquality-N`` filter then mean the look of Pillow's JPEG at that quality, written smaller;
Wagtail's other formats are untouched.
"""
