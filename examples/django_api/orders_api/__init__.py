"""Orders API: an example Django REST framework resource server for Portcullis."""
