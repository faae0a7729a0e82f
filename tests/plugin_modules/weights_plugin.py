"""A third party declaring its own architecture and official weights (no torch at import)."""

import neuralfx

NEURALFX_PLUGIN_API = "1.0"

#: The bytes of the published file are fixed, so is its checksum.
TINT_SHA256 = "c7c6d62ef9d418724d2124bc3aa5d2bc4fb50da9364aa37ba61530723f75a3bf"


@neuralfx.hookimpl
def register_weights(register):
    register(
        neuralfx.Architecture(
            name="tiny-tint",
            build="weights_plugin_net:build",
            default_weights="tiny-tint-v1",
            description="a 1x1 colour matrix",
        )
    )
    register(
        neuralfx.Weights(
            name="tiny-tint-v1",
            model="tiny-tint",
            url="https://example.org/tiny_tint_v1.safetensors",
            filename="tiny_tint_v1.safetensors",
            licence="CC0-1.0",
            sha256=TINT_SHA256,
        )
    )
