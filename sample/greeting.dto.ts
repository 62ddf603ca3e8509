import { IsString, MaxLength } from 'class-validator';

/** The payload of `sample.greet`, checked by `ValidationPipe` on the serving node. */
export class GreetingDto {
  /** Who to greet. */
  @IsString()
  @MaxLength(64)
  name!: string;
}

/** The answer of `sample.greet`. */
export interface Greeting {
  readonly greeting: string;
  /** The node that answered. */
  readonly servedBy: string;
  /** The node that asked. */
  readonly from: string;
}

/** The payload of the `sample.announce` broadcast. */
export interface Announcement {
  readonly text: string;
}
