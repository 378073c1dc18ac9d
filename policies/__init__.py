"""Xiangzhi Gateway: policies."""
