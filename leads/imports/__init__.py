"""Leads from CSV and Excel files and back: django-import-export reads and writes the files, and every lead it
brings is written by the lead services."""
