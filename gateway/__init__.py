"""Xiangzhi Gateway: gateway."""
