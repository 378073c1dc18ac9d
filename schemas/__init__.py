"""Xiangzhi Gateway: schemas."""
