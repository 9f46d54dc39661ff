"""Organisation: people, segments, lifecycle stages, pods, memberships and the coverage matrix (models, forms and
the services that keep their rules). Its pages are in app.orgpages, on the floor above app.permissions."""
