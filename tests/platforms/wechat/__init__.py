"""WeChat official account platform tests."""
