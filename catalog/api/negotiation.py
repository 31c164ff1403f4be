"""The API speaks JSON only, whatever the client's ``Accept`` header asks for.

Refusing a browser's ``Accept: text/html`` with 406 would help nobody: the first renderer
(JSON) is always chosen. The schema view keeps DRF's usual negotiation (JSON or YAML).
"""

from rest_framework.negotiation import BaseContentNegotiation


class JSONOnly(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
