"""The columns of a lead file, one list for the import and the export (django-import-export's resource)."""

import datetime

from import_export import fields, resources, widgets

from ..models import Lead, Stage

COLUMNS = ("name", "phone", "email", "stage", "event_date", "event_time", "location")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")  # written first; the others as Turkish spreadsheets write dates
TIME_FORMATS = ("%H:%M", "%H:%M:%S")


class StageNameWidget(widgets.ForeignKeyWidget):
    """A stage is written by its name. The import looks names up once for the whole file, not per row."""

    def __init__(self):
        super().__init__(Stage, field="name")


class DateWidget(widgets.DateWidget):
    """Dates as ISO or as people write them here; a spreadsheet's date-and-time cell counts as its date."""

    def __init__(self):
        super().__init__()
        self.formats = DATE_FORMATS

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, datetime.datetime):
            return value.date()
        return super().clean(value.strip() if isinstance(value, str) else value, row, **kwargs)


class TimeWidget(widgets.TimeWidget):
    def __init__(self):
        super().__init__()
        self.formats = TIME_FORMATS

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, datetime.datetime):
            return value.time()
        return super().clean(value.strip() if isinstance(value, str) else value, row, **kwargs)


class LeadResource(resources.ModelResource):
    stage = fields.Field(attribute="stage", column_name="stage", widget=StageNameWidget())
    event_date = fields.Field(attribute="event_date", column_name="event_date", widget=DateWidget())
    event_time = fields.Field(attribute="event_time", column_name="event_time", widget=TimeWidget())

    class Meta:
        model = Lead
        fields = COLUMNS
        export_order = COLUMNS
        import_id_fields = ("phone",)
