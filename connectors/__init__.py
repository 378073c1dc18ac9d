"""Xiangzhi Gateway: connectors."""
