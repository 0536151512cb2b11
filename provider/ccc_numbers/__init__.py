"""Pulumi dynamic provider for Alibaba Cloud Contact Center (CCC) phone-number bindings."""
