"""The API's pagination: numbered pages for lists that are browsed and counted (leads, stages, campaigns)."""

from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    """`?page=N&page_size=M` (at most MAX_PAGE_SIZE); the answer gives the count and the next and previous pages."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
