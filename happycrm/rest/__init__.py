"""What every endpoint of the API shares: one error format, throttling, pagination, the schema's conventions."""
