"""Failing controls become tickets in the tracker the ops team already uses."""
