package dev.tandem.orchestrator.http;

/**
 * A request line and header fields, validated, with the body framing they declare.
 *
 * @param contentLength the declared body length, or -1 when the body is chunked
 * @param keepAlive whether the connection may carry another request after this one
 * @param expectContinue the client waits for {@code 100 Continue} before sending the body
 */
record RequestHead(
        String method,
        String path,
        String query,
        int minorVersion,
        Headers headers,
        long contentLength,
        boolean keepAlive,
        boolean expectContinue) {

    boolean chunked() {
        return contentLength < 0;
    }
}
