/**
 * A cap on accepted connections that several listeners share: the threads of a thread-pool each
 * accept from one listening socket, and the kernel does not spread accepts evenly over them, so a
 * cap split into equal shares refused connections at one thread while another had room (E5: the
 * thread-pool held 18,567 of 19,000 under a cap of 19,936). A listener with a quota takes a place
 * per accepted connection, refuses one when none is left, and gives the place back at its close.
 */
export interface ConnectionQuota {
  /** Takes one place; false when the cap is reached (the connection is then refused). */
  tryTake(): boolean;
  /** Gives back a place taken (its connection closed). */
  give(): void;
}
