"""The model room: the inference worker that holds the model, the prediction order, pretrained
downloads and the model history dialog."""
