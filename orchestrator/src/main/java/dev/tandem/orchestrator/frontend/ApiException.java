package dev.tandem.orchestrator.frontend;

/**
 * An error to answer with OpenAI error JSON: {@code {"error":{"message","type","param","code"}}} and a status.
 * Thrown anywhere below the HTTP edge that knows the client's mistake; translated only at the edge.
 */
public final class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(int status, String type, String message, String param, String code) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    public static ApiException invalid(String message, String param) {
        return new ApiException(400, "invalid_request_error", message, param, null);
    }

    public static ApiException modelNotFound(String model) {
        return new ApiException(
                404,
                "invalid_request_error",
                "The model '" + model + "' does not exist or no worker serves it",
                "model",
                "model_not_found");
    }

    public static ApiException overloaded(String message) {
        return new ApiException(503, "service_unavailable_error", message, null, "overloaded");
    }

    public static ApiException unavailable(String message) {
        return new ApiException(503, "service_unavailable_error", message, null, "unavailable");
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
