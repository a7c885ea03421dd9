package dev.tandem.conformance.http;

/** Thrown by a case about an optional feature that the server declines in the documented way (a 4xx error). */
final class CaseSkipped extends RuntimeException {

    CaseSkipped(String reason) {
        super(reason, null, false, false);
    }
}
