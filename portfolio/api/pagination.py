from django.conf import settings
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

PAGE_INVALID = "A page number: a whole number from 1."
PAGE_SIZE_INVALID = "A whole number of at least 1 (larger ones are capped at {cap})."


class ApiPagination(PageNumberPagination):
    """``?page=`` and ``?page_size=`` (capped at ``API_MAX_PAGE_SIZE``).

    A page number or size that is not a whole number (empty included) is a field error,
    not quietly the default; a page of 0 or past the end is a 404.
    """

    page_size = settings.API_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and not raw.isdigit():
            raise ValidationError({self.page_query_param: [PAGE_INVALID]})
        return super().get_page_number(request, paginator)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: [
                PAGE_SIZE_INVALID.format(cap=self.max_page_size)]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        return self.schema_parameters(raw=True)

    @classmethod
    def schema_parameters(cls, *, raw: bool = False) -> list:
        """``page`` and ``page_size``: whole numbers of at least 1 (the size is capped)."""
        parameters = [
            ("page", "A page number, from 1; past the last page is a 404."),
            (cls.page_size_query_param,
             f"Rows per page (default {cls.page_size}; larger than {cls.max_page_size} is "
             f"capped at {cls.max_page_size})."),
        ]
        if raw:
            return [{"name": name, "required": False, "in": "query", "description": text,
                     "schema": {"type": "integer", "minimum": 1}} for name, text in parameters]
        return [OpenApiParameter(name, {"type": "integer", "minimum": 1}, description=text)
                for name, text in parameters]
