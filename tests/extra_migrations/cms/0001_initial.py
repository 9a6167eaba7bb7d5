"""The real cms.0001_initial, re-exported so this package can add one migration after it."""

from importlib import import_module

Migration = import_module("cms.migrations.0001_initial").Migration
