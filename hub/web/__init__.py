"""Web entry points: the REST API (api/), public item pages, feeds, platform callbacks, and the
request-body policy every request passes."""
