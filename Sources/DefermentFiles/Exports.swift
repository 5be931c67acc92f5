@_exported import DefermentCore
