"""The province's read-only web dashboard (`povdesk province serve`): logins, the region tree, charts,
the county comparison and the duplicate flags, from the province registry on PostgreSQL."""
