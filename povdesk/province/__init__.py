"""The province registry on PostgreSQL: province bundles from county workspaces (export), the
schema partitioned by county code (db), loading bundles by COPY (load) and cross-county flags."""
