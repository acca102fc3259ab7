"""Use cases. Each public function is one transaction; none imports Litestar."""
