// The host side of MCP Apps, from the official package, exposed to the harness page.
import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";

window.AppBridge = AppBridge;
window.PostMessageTransport = PostMessageTransport;
