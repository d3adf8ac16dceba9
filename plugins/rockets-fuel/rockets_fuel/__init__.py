"""rockets-fuel: refuelling and fuel burn for rockets (an example third-party plugin)."""

from rockets_fuel.plugin import FuelState, RocketFuelBurned, RocketRefueled

__all__ = ["FuelState", "RocketFuelBurned", "RocketRefueled"]
