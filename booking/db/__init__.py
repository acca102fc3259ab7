from booking.db.engine import Database

__all__ = ["Database"]
