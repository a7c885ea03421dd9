package dev.tandem.api.discovery;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.tandem.api.proto.ModelCard;
import java.nio.charset.StandardCharsets;

/** Model cards as stored in discovery: proto3 JSON, so that etcdctl shows them readably. */
public final class ModelCards {

    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();
    private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

    private ModelCards() {}

    public static byte[] encode(ModelCard card) {
        try {
            return PRINTER.print(card).getBytes(StandardCharsets.UTF_8);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ModelCard decode(byte[] json) throws InvalidProtocolBufferException {
        ModelCard.Builder b = ModelCard.newBuilder();
        PARSER.merge(new String(json, StandardCharsets.UTF_8), b);
        return b.build();
    }
}
