"""Personal data: the registry of what is held (``registry``), export (Art. 15/20), erasure
(Art. 17) and retention. One place that knows every table with personal data."""
