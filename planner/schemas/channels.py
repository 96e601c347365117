"""The ways a token is served (SPEC section 8), defined once: a channel is a StrEnum, so it
compares equal to its name in the catalogs, `--channels` and the tables; the groups below are
what the rest of the code asks for."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    API = "api"
    ON_DEMAND = "on_demand"
    RESERVED = "reserved"
    SPOT = "spot"
    PURCHASE = "purchase"


# Every channel, in the order `--channels` and the outputs list them.
CHANNELS: tuple[Channel, ...] = tuple(Channel)
# The channels that hold GPUs (an offer's channel), and those signed for a term.
GPU_CHANNELS = (Channel.PURCHASE, Channel.RESERVED, Channel.ON_DEMAND, Channel.SPOT)
COMMITMENT_CHANNELS = (Channel.PURCHASE, Channel.RESERVED)
RENTAL_CHANNELS = (Channel.RESERVED, Channel.ON_DEMAND, Channel.SPOT)
HOURLY_CHANNELS = (Channel.ON_DEMAND, Channel.SPOT)
# The channels a plan's tokens are reported by, owned first.
SERVED_CHANNELS = (Channel.API, *GPU_CHANNELS)
