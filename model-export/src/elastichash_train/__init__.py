"""ElasticHash model training: frozen EfficientNet-Lite0 features, hashing head, bit decorrelation, ONNX export."""
