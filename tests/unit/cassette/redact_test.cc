// placeholder: tests land with the implementation
