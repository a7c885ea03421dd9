package dev.tandem.api.events;

/** A received message; the payload array belongs to the receiver. */
public record EventMessage(String subject, byte[] payload) {}
