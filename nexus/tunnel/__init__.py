"""Remote access through a Cloudflare tunnel (cloudflared run and watched by Nexus)."""

from nexus.tunnel.binary import CloudflaredNotFound, download_cloudflared, find_cloudflared
from nexus.tunnel.manager import TOKEN_SECRET, TunnelError, TunnelManager

__all__ = [
           "TOKEN_SECRET",
           "CloudflaredNotFound",
           "TunnelError",
           "TunnelManager",
           "download_cloudflared",
           "find_cloudflared",
]
