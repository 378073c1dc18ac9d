"""The village dashboard (村级数据看板): server-rendered statistics with inline SVG charts."""
