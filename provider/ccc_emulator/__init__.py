"""A local Alibaba Cloud Contact Center (CCC 2017-07-05) phone-number API for tests and demos."""
