package dev.tandem.orchestrator.http;

/**
 * One request, read in full.
 *
 * @param method the method token as sent (case-sensitive, as HTTP says)
 * @param path the target's path (absolute-form targets are reduced to it), not decoded
 * @param query the part after {@code ?}, or empty
 * @param minorVersion 1 for HTTP/1.1, 0 for HTTP/1.0
 * @param headers header fields
 * @param body the body bytes (empty when there was none); owned by the request
 */
public record HttpRequest(String method, String path, String query, int minorVersion, Headers headers, byte[] body) {}
