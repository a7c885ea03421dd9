package dev.tandem.orchestrator.http;

/**
 * Serves one request on the connection's virtual thread. The request body has been read in full and every limit
 * checked before this runs. Whatever the handler throws becomes a 500 (or a closed connection once the response
 * started); a handler should answer its own errors.
 */
@FunctionalInterface
public interface HttpHandler {

    void handle(HttpRequest request, HttpResponse response) throws Exception;
}
