"""Helpers of the TransformationSystem components of this extension (failure management)."""
