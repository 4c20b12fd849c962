// Placeholder: being written (see core/README.md for the contract).
export {};
